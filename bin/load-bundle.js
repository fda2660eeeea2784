// Loads a CommonJS bundle made by scripts/bundle-cli.mjs through vm.Script, so
// V8's code cache recorded at build time (FILE.cache) spares compiling it
// again; a cache V8 rejects (another node, a changed bundle) is simply not
// used. Returns the bundle's exports.
const { existsSync, readFileSync } = require('node:fs');
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

function loadBundle(file) {
  const cache = `${file}.cache`;
  return compileBundle(file, existsSync(cache) ? readFileSync(cache) : undefined).exports;
}

exports.compileBundle = compileBundle;
exports.loadBundle = loadBundle;
exports.loaded = loaded;
