#!/usr/bin/env node
'use strict'
// The package as users get it. Three modes:
//
//   node scripts/pack-test.js                  (npm run test:pack; run by __test__/package.test.mjs)
//     Replays the publish job of .github/workflows/ci.yml for this machine's target: stages a clean checkout
//     (the files `npm pack` takes, minus the local build's .node) with the host binary as the build job's
//     artifact, runs `napi artifacts`, the release preparation, this file's --release-gate and
//     `napi pre-publish --dry-run`, then `npm pack`s the platform package and the main package, installs both
//     tarballs into a fresh project where cargo and rustc fail (stubs first on PATH) and runs an example there against a real etcd.
//   node scripts/pack-test.js --release-gate [--config napi.json]   (prepublishOnly)
//     Refuses to publish a root package that is not the release layout (see releaseProblems).
//   node scripts/pack-test.js --sync-versions  (the `version` script)
//     Gives npm/<platform>/package.json and the root's optionalDependencies the root version.
const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')
// A local build's binary: in the package root, where napi build puts it.
const ROOT_BINARY = /^[^/]+\.node$/

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'))
const writeJson = (file, value) => fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n')

// ------------------------------------------------------------------ what the main package may contain

// Never for users: sources, tests, tooling, build output, the platform packages' folders.
const FORBIDDEN = [
  /^__test__\//, /^src\//, /^target\//, /^scripts\//, /^bench\//, /^node_modules\//, /^\.etcd-cache\//,
  /^npm\//, /^artifacts\//, /^\.ci\//, /^\.github\//, /^Cargo\.(toml|lock)$/, /^build\.rs$/, /\.tgz$/,
  /(^|\/)\.DS_Store$/
]
const REQUIRED = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'binding.js', 'binding.d.ts']

// Every file that package.json's main/types/exports point at.
function entryFiles(pkg) {
  const out = new Set([pkg.main, pkg.types].filter(Boolean).map((f) => f.replace(/^\.\//, '')))
  const walk = (v) => {
    if (typeof v === 'string') out.add(v.replace(/^\.\//, ''))
    else if (v && typeof v === 'object') Object.values(v).forEach(walk)
  }
  walk(pkg.exports)
  return [...out]
}

/**
 * What is wrong with a main-package file list (paths relative to the package root). With `release`, a
 * native binary is wrong too: published binaries live in the platform packages only.
 */
function mainPackageProblems(files, pkg, { release = false } = {}) {
  const have = new Set(files)
  const problems = []
  for (const f of files) {
    if (FORBIDDEN.some((re) => re.test(f))) problems.push(`ships ${f}`)
    if (f.endsWith('.node') && (release || !ROOT_BINARY.test(f))) problems.push(`ships native binary ${f}`)
  }
  for (const f of [...REQUIRED, ...entryFiles(pkg)]) if (!have.has(f)) problems.push(`lacks ${f}`)
  return problems
}

// npm's JS entry point, run with this node: no PATH look-up (the test PATH may shadow tools) and no `npm.cmd`,
// which spawnSync cannot run without a shell on Windows.
let npmCliPath = null
function npmCli() {
  if (npmCliPath) return npmCliPath
  const nodeDir = path.dirname(process.execPath)
  const candidates = [
    // Set when npm runs this script: the very npm in use (yarn and pnpm set it too, hence the name check).
    process.env.npm_execpath && path.basename(process.env.npm_execpath) === 'npm-cli.js' ? process.env.npm_execpath : null,
    path.join(nodeDir, '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'), // Unix installers, nvm, Homebrew
    path.join(nodeDir, 'node_modules', 'npm', 'bin', 'npm-cli.js') // Windows installer
  ]
  // An `npm` on PATH is a link or shim next to (or pointing into) its package: Debian's /usr/share/nodejs/npm, ...
  for (const dir of (process.env.PATH || process.env.Path || '').split(path.delimiter).filter(Boolean)) {
    const bin = path.join(dir, 'npm')
    if (!fs.existsSync(bin)) continue
    const real = fs.realpathSync(bin)
    candidates.push(real, path.join(path.dirname(real), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
      path.join(path.dirname(real), 'node_modules', 'npm', 'bin', 'npm-cli.js'))
  }
  for (const c of candidates) {
    if (c && path.basename(c) === 'npm-cli.js' && fs.existsSync(c)) return (npmCliPath = c)
  }
  try {
    return (npmCliPath = require.resolve('npm/bin/npm-cli.js'))
  } catch {
    throw new Error(`cannot find npm's npm-cli.js (looked at ${candidates.filter(Boolean).join(', ')})`)
  }
}

function npm(args, { cwd, env = cleanEnv(), timeout = 120000 } = {}) {
  const r = spawnSync(process.execPath, [npmCli(), ...args], { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 << 20 })
  if (r.error) throw r.error
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stderr}`)
  return r.stdout
}

/** `npm pack --json` output for one package: { filename, size, unpackedSize, files: [{ path, size }] }. */
function packInfo(cwd, extra = []) {
  const out = npm(['pack', '--json', '--ignore-scripts', ...extra], { cwd })
  return JSON.parse(out.slice(out.indexOf('[')))[0]
}

// The environment an npm lifecycle script gets carries the parent npm's settings (npm_config_*,
// npm_package_*); children here must behave as if a user ran them.
function cleanEnv(extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_')) env[k] = v
  return { ...env, ...extra }
}

// ------------------------------------------------------------------ release gate and version sync

async function napiConfig(dir, configPath) {
  const { readNapiConfig } = require('@napi-rs/cli')
  return readNapiConfig(path.join(dir, 'package.json'), configPath ? path.resolve(dir, configPath) : undefined)
}

/** Why the package in `dir` is not ready for `npm publish` (empty when it is). */
async function releaseProblems(dir, configPath) {
  const pkg = readJson(path.join(dir, 'package.json'))
  const { targets, binaryName, packageName } = await napiConfig(dir, configPath)
  const problems = []
  if (pkg.scripts && pkg.scripts.prepare) {
    // Consumers of a registry package never run `prepare`, but npm ≥ 11.16 lists it as an install script to
    // approve; the release drops it (CI: `npm pkg delete scripts.prepare`). Git installs keep it.
    problems.push('package.json still has scripts.prepare (the from-source build); run `npm pkg delete scripts.prepare` in the release job')
  }
  for (const t of targets) {
    const name = `${packageName}-${t.platformArchABI}`
    const dirOf = path.join(dir, 'npm', t.platformArchABI)
    const manifest = path.join(dirOf, 'package.json')
    if (!fs.existsSync(manifest)) {
      problems.push(`no ${path.relative(dir, manifest)} (napi create-npm-dirs)`)
      continue
    }
    const sub = readJson(manifest)
    if (sub.name !== name) problems.push(`${path.relative(dir, manifest)} is named ${sub.name}, not ${name}`)
    if (sub.version !== pkg.version) problems.push(`${name} is ${sub.version}, the root is ${pkg.version}`)
    const binary = `${binaryName}.${t.platformArchABI}.node`
    if (!fs.existsSync(path.join(dirOf, binary))) problems.push(`no npm/${t.platformArchABI}/${binary} (napi artifacts)`)
    const wanted = pkg.optionalDependencies && pkg.optionalDependencies[name]
    if (wanted !== pkg.version) problems.push(`optionalDependencies["${name}"] is ${wanted}, not ${pkg.version}`)
  }
  for (const f of fs.readdirSync(dir)) {
    if (f.endsWith('.node')) problems.push(`${f} in the package root would ship inside the main package (\`napi artifacts\` copies every binary there; remove them)`)
  }
  const listing = packInfo(dir, ['--dry-run'])
  for (const p of mainPackageProblems(listing.files.map((f) => f.path), pkg, { release: true })) problems.push(`main package ${p}`)
  return problems
}

async function syncVersions(dir) {
  const pkgPath = path.join(dir, 'package.json')
  const pkg = readJson(pkgPath)
  const { targets, packageName } = await napiConfig(dir)
  const names = []
  for (const t of targets) {
    const manifest = path.join(dir, 'npm', t.platformArchABI, 'package.json')
    const sub = readJson(manifest)
    sub.version = pkg.version
    writeJson(manifest, sub)
    names.push(`${packageName}-${t.platformArchABI}`)
  }
  const setOptional = (entry) => {
    entry.optionalDependencies = entry.optionalDependencies || {}
    for (const n of names) entry.optionalDependencies[n] = pkg.version
  }
  setOptional(pkg)
  writeJson(pkgPath, pkg)
  const lockPath = path.join(dir, 'package-lock.json')
  if (fs.existsSync(lockPath)) {
    const lock = readJson(lockPath)
    if (lock.packages && lock.packages['']) {
      setOptional(lock.packages[''])
      writeJson(lockPath, lock)
    }
  }
  console.log(`${names.length} platform packages and optionalDependencies at ${pkg.version}`)
}

// ------------------------------------------------------------------ pack-and-install test

const EXAMPLE = `'use strict'
// A user's first script: the installed etcd-napi against the etcd in ETCD_HOSTS.
const Etcd = require('etcd-napi')
const { Etcd3 } = require('etcd-napi')
const { startEtcd } = require('etcd-napi/testing')

async function main() {
  const hosts = process.env.ETCD_HOSTS.split(',')
  const key = 'pack-test/' + process.pid
  const etcd = new Etcd(hosts)
  await etcd.set(key, 'from v2')
  const v2 = (await etcd.get(key)).node.value
  const sync = etcd.getSync(key)
  etcd.close()

  const client = new Etcd3({ hosts })
  await client.put(key + '/v3').value('from v3')
  const v3 = await client.get(key + '/v3').string()
  client.close()

  const esm = await import('etcd-napi')
  console.log(JSON.stringify({
    v2, sync: sync.body.node.value, v3,
    esmDefaultIsCjs: esm.default === Etcd,
    testingExport: typeof startEtcd,
    nativeFiles: Object.keys(require.cache).filter((f) => f.endsWith('.node'))
  }))
}
main().catch((err) => { console.error(err); process.exitCode = 1 })
`

// The napi target this machine built (`npm run build` leaves <binaryName>.<platform>.node in the root).
function hostTarget(targets, binaryName) {
  const built = targets.filter((t) => fs.existsSync(path.join(root, `${binaryName}.${t.platformArchABI}.node`)))
  const mine = built.filter((t) => t.platform === process.platform && t.arch === process.arch)
  if (mine.length === 0) {
    throw new Error(`no ${binaryName}.${process.platform}-${process.arch}*.node in ${root}: run \`npm run build\` first`)
  }
  if (mine.length > 1 && process.platform === 'linux') {
    const glibc = Boolean(process.report.getReport().header.glibcVersionRuntime)
    return mine.find((t) => t.abi === (glibc ? 'gnu' : 'musl')) || mine[0]
  }
  return mine[0]
}

const NO_RUST = 'pack-test: no Rust toolchain for this user'
const RUST_TOOLS = ['cargo', 'rustc', 'rustup']

// What a user without Rust has: PATH as it is (node, npm, sh stay reachable, even where they share a directory
// with cargo, as in /usr/bin or /opt/homebrew/bin) behind a directory whose cargo, rustc and rustup fail.
function rustlessEnv(dir, extra = {}) {
  fs.mkdirSync(dir, { recursive: true })
  for (const tool of RUST_TOOLS) {
    if (process.platform === 'win32') {
      fs.writeFileSync(path.join(dir, `${tool}.cmd`), `@echo ${NO_RUST} 1>&2\r\n@exit /b 127\r\n`)
    } else {
      fs.writeFileSync(path.join(dir, tool), `#!/bin/sh\necho "${NO_RUST}" >&2\nexit 127\n`, { mode: 0o755 })
    }
  }
  const env = cleanEnv(extra)
  // Windows spells it Path; a second PATH key would leave which one wins to chance.
  const key = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') || 'PATH'
  env[key] = [dir, env[key]].filter(Boolean).join(path.delimiter)
  return env
}

function copyInto(srcRoot, dstRoot, rel) {
  const dst = path.join(dstRoot, rel)
  fs.mkdirSync(path.dirname(dst), { recursive: true })
  fs.copyFileSync(path.join(srcRoot, rel), dst)
}

function runNode(args, { cwd, env, timeout }) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
    child.on('error', (err) => { clearTimeout(timer); reject(err) })
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) })
  })
}

function check(cond, message) {
  if (!cond) throw new Error(message)
}

const kB = (n) => `${(n / 1024).toFixed(0)} kB`

async function packAndInstall() {
  const started = Date.now()
  const step = (what) => console.log(`# ${((Date.now() - started) / 1000).toFixed(1)}s ${what}`)
  const pkg = readJson(path.join(root, 'package.json'))
  const { targets, binaryName, packageName } = await napiConfig(root)
  const host = hostTarget(targets, binaryName)
  for (const f of ['binding.js', 'binding.d.ts']) check(fs.existsSync(path.join(root, f)), `no ${f}: run \`npm run build\` first`)
  const napiBin = require.resolve('@napi-rs/cli/package.json').replace(/package\.json$/, 'cli.mjs')
  const napi = (args, cwd) => {
    const r = spawnSync(process.execPath, [napiBin, ...args], { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 120000 })
    if (r.status !== 0) throw new Error(`napi ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`)
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-napi-pack-'))
  let server = null
  try {
    // 1. A clean checkout plus the build jobs' artifacts: the files npm packs, minus the local binary; the
    //    host binary where actions/download-artifact puts it.
    const stage = path.join(tmp, 'stage')
    const listing = packInfo(root, ['--dry-run'])
    for (const f of listing.files) if (!ROOT_BINARY.test(f.path)) copyInto(root, stage, f.path)
    for (const t of targets) for (const f of ['package.json', 'README.md']) copyInto(root, stage, path.join('npm', t.platformArchABI, f))
    const binary = `${binaryName}.${host.platformArchABI}.node`
    copyInto(root, path.join(stage, 'artifacts', `bindings-${host.triple}`), binary)
    // napi's own -c config file narrows the targets to the one built here; package.json stays as shipped.
    const hostConfig = path.join(tmp, 'napi-host.json')
    writeJson(hostConfig, { binaryName, packageName, targets: [host.triple] })
    step(`staged ${listing.files.length} files; host target ${host.triple}`)

    // 2. The publish job's preparation, with the same commands.
    napi(['artifacts', '--cwd', stage, '-c', hostConfig, '--output-dir', 'artifacts'], stage)
    for (const f of fs.readdirSync(stage)) if (f.endsWith('.node')) fs.rmSync(path.join(stage, f))
    fs.rmSync(path.join(stage, 'artifacts'), { recursive: true })
    npm(['pkg', 'delete', 'scripts.prepare'], { cwd: stage })
    const gate = await releaseProblems(stage, hostConfig)
    check(gate.length === 0, `release gate:\n  ${gate.join('\n  ')}`)
    napi(['pre-publish', '--cwd', stage, '-c', hostConfig, '-t', 'npm', '--no-gh-release', '--dry-run'], stage)
    step('napi artifacts, release gate and napi pre-publish --dry-run passed')

    // 3. npm pack both packages.
    const tarballs = path.join(tmp, 'tarballs')
    fs.mkdirSync(tarballs)
    const platformPack = packInfo(path.join(stage, 'npm', host.platformArchABI), ['--pack-destination', tarballs])
    const mainPack = packInfo(stage, ['--pack-destination', tarballs])
    const platformFiles = platformPack.files.map((f) => f.path).sort()
    check(JSON.stringify(platformFiles) === JSON.stringify(['README.md', binary, 'package.json'].sort()),
      `platform package holds ${platformFiles.join(', ')}`)
    const mainProblems = mainPackageProblems(mainPack.files.map((f) => f.path), pkg, { release: true })
    check(mainProblems.length === 0, `main package: ${mainProblems.join('; ')}`)
    step(`packed ${platformPack.filename} (${kB(platformPack.size)}, ${kB(platformPack.unpackedSize)} unpacked) and ` +
      `${mainPack.filename} (${kB(mainPack.size)}, ${kB(mainPack.unpackedSize)} unpacked, ${mainPack.files.length} files)`)

    // 4. A fresh project, no Rust: both tarballs in one install. --offline with an empty cache: the other
    //    platforms' optional dependencies cannot be fetched and npm skips them, as it does for a 404 online.
    const app = path.join(tmp, 'app')
    fs.mkdirSync(app)
    writeJson(path.join(app, 'package.json'), { name: 'pack-test-app', version: '1.0.0', private: true })
    const userEnv = rustlessEnv(path.join(tmp, 'no-rust-bin'))
    for (const tool of ['cargo', 'rustc']) {
      // A shell resolves the name as npm's scripts would (and can run the .cmd stubs on Windows).
      const probe = spawnSync(tool, ['--version'], { env: userEnv, encoding: 'utf8', shell: process.platform === 'win32' })
      check(!probe.error && probe.status !== 0 && probe.stderr.includes(NO_RUST),
        `${tool} --version on the test PATH did not reach the failing stub: ${probe.error || `exit ${probe.status}: ${probe.stdout}${probe.stderr}`}`)
    }
    const npmrc = path.join(tmp, 'npmrc')
    fs.writeFileSync(npmrc, '')
    npm(['install', '--offline', '--cache', path.join(tmp, 'npm-cache'), '--userconfig', npmrc,
      '--no-audit', '--no-fund', path.join(tarballs, mainPack.filename), path.join(tarballs, platformPack.filename)],
    { cwd: app, env: userEnv })
    const installed = path.join(app, 'node_modules')
    const installedMain = readJson(path.join(installed, pkg.name, 'package.json'))
    check(!installedMain.scripts || !installedMain.scripts.prepare, 'the installed package still carries scripts.prepare')
    check(!fs.readdirSync(path.join(installed, pkg.name)).some((f) => f.endsWith('.node')), 'the main package brought a binary')
    const absent = targets.filter((t) => t !== host).map((t) => `${packageName}-${t.platformArchABI}`)
    check(absent.every((n) => !fs.existsSync(path.join(installed, n))), 'another platform package got installed')
    step(`installed both tarballs with cargo and rustc failing on PATH; ${absent.length} other platforms' optional dependencies skipped`)

    // 5. The example, against a real etcd, from the fresh project with the same PATH.
    const { startEtcd } = require(path.join(root, 'testing', 'index.js'))
    server = await startEtcd()
    fs.writeFileSync(path.join(app, 'example.js'), EXAMPLE)
    const run = await runNode(['example.js'], { cwd: app, env: { ...userEnv, ETCD_HOSTS: server.endpoints.join(',') }, timeout: 60000 })
    check(run.code === 0, `example exited ${run.code}${run.signal ? ` (${run.signal}: still running after 60 s)` : ''}:\n${run.stderr}`)
    const result = JSON.parse(run.stdout.trim().split('\n').pop())
    check(result.v2 === 'from v2' && result.sync === 'from v2' && result.v3 === 'from v3', `example printed ${run.stdout}`)
    check(result.esmDefaultIsCjs === true && result.testingExport === 'function', `example printed ${run.stdout}`)
    const expected = path.join(installed, `${packageName}-${host.platformArchABI}`, binary)
    check(result.nativeFiles.length === 1 && fs.realpathSync(result.nativeFiles[0]) === fs.realpathSync(expected),
      `the example loaded ${result.nativeFiles.join(', ') || 'no binary'}, not ${expected}`)
    step(`example ran (v2 async + sync, v3, ESM) on ${path.relative(app, result.nativeFiles[0])} and exited by itself`)
  } finally {
    if (server) await server.stop()
    if (process.env.KEEP_PACK_TEST === '1') console.log(`# kept ${tmp}`)
    else fs.rmSync(tmp, { recursive: true, force: true })
  }
  console.log(`# pack-and-install test passed in ${((Date.now() - started) / 1000).toFixed(1)}s`)
}

async function main(argv) {
  if (argv[0] === '--release-gate') {
    const at = argv.indexOf('--config')
    const problems = await releaseProblems(process.cwd(), at >= 0 ? argv[at + 1] : undefined)
    if (problems.length > 0) {
      console.error(`not ready to publish:\n  ${problems.join('\n  ')}`)
      process.exitCode = 1
    } else {
      console.log('release layout ok')
    }
  } else if (argv[0] === '--sync-versions') {
    await syncVersions(process.cwd())
  } else if (argv.length === 0) {
    await packAndInstall()
  } else {
    console.error('usage: node scripts/pack-test.js [--release-gate [--config napi.json] | --sync-versions]')
    process.exitCode = 2
  }
}

module.exports = { mainPackageProblems, releaseProblems, packInfo, cleanEnv }

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err && err.stack ? err.stack : err)
    process.exitCode = 1
  })
}
