// Loads a CommonJS bundle made by scripts/bundle-cli.mjs through vm.Script, so
// V8's code cache recorded at build time (FILE.cache) spares compiling it
// again; a cache V8 rejects (another node, a changed bundle) is simply not
// used. Returns the bundle's exports.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { constants, Script } from 'node:vm';

export function compileBundle(file, cachedData) {
  const source = readFileSync(file, 'utf8');
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  return { script, exports: module.exports };
}

export function loadBundle(file) {
  const cache = `${file}.cache`;
  return compileBundle(file, existsSync(cache) ? readFileSync(cache) : undefined).exports;
}
