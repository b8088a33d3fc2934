// The type test: __test__/types/usage.ts uses the package as a TypeScript user would (strict),
// with @ts-expect-error lines for misuse; tsc must accept it.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(import.meta.url)
const tsc = require.resolve('typescript/bin/tsc')
const project = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), 'types')

test('index.d.ts types a user program strictly (tsc --noEmit)', () => {
  const r = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8', timeout: 120_000 })
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`)
})
