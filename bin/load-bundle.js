// Loads a CommonJS bundle made by scripts/bundle-cli.mjs through vm.Script, so
// V8's code cache recorded at build time (FILE.cache) spares compiling it
// again; a cache V8 rejects (another node, a changed bundle) is simply not
// used. Returns the bundle's exports.
//
// A code cache is code: V8 checks it against the source's length and its own
// flags, not against what the source says, so whoever can write FILE.cache
// decides what `bulkhead run` executes. It is used only if nobody could have
// written it who could not write the bundle itself: owned by the bundle's
// owner or root, a regular file, and writable by no group or other that may
// not write the bundle (trustedCache). Otherwise the bundle is compiled from
// its source, as without a cache: slower, same behaviour.
const { closeSync, constants: fsConstants, fstatSync, openSync, readFileSync, statSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const { constants, Script } = require('node:vm');

/** Every bundle loaded in this process, by file, with its script: the build records their caches. */
const loaded = new Map();

function compileBundle(file, cachedData) {
  const source = readFileSync(file, 'utf8');
  // The file is the module's function expression itself (scripts/bundle-cli.mjs writes the wrapper).
  const script = new Script(source, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  loaded.set(file, script);
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  return { script, exports: module.exports };
}

/**
 * FILE.cache's bytes if it is no easier to write than FILE (see above), else undefined. Checked on the
 * descriptor it is read from, so the file judged is the file used.
 */
function trustedCache(file) {
  let fd;
  try {
    const bundle = statSync(file);
    // Non-blocking: a FIFO put in its place must not hold the command at open().
    fd = openSync(`${file}.cache`, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    const cache = fstatSync(fd);
    if (!cache.isFile()) return undefined;
    if (cache.uid !== bundle.uid && cache.uid !== 0) return undefined;
    if ((cache.mode & ~bundle.mode & 0o022) !== 0) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined; // none (or unreadable): compiled from the source
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function loadBundle(file) {
  return compileBundle(file, trustedCache(file)).exports;
}

exports.compileBundle = compileBundle;
exports.loadBundle = loadBundle;
exports.trustedCache = trustedCache;
exports.loaded = loaded;
