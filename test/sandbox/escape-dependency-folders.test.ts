/**
 * Write here, run there, reviewed by nobody: what the host's next `npm test`, `npx`, `pytest`,
 * `cargo test`, `./gradlew` or `mvn` runs or loads from the workdir without anyone opening it.
 * Dependency folders are gitignored (no `git diff` shows a change in them); wrappers and their
 * properties download and run a build tool; editors run a workspace file's tasks on opening it.
 * All reached the host workdir on 5c126d6; now each is held back and reported.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInJail, skipWithoutSandbox } from './jail-harness.js';

const skip = skipWithoutSandbox();

const heldOf = (notes: readonly { kind: string; path: string }[]) =>
  notes.filter((n) => n.kind === 'held_back').map((n) => n.path);

/** A script writing each path (and the folders on its way). */
const plant = (paths: readonly string[]) =>
  paths.map((p) => `mkdir -p "$(dirname ${p})" && echo 'pwned' > ${p}`).join('\n');

/** A host workdir with an installed package, as `npm install` leaves it. */
function installed(wd: string): void {
  mkdirSync(join(wd, 'node_modules', '.bin'), { recursive: true });
  mkdirSync(join(wd, 'node_modules', 'vitest'), { recursive: true });
  writeFileSync(join(wd, 'node_modules', 'vitest', 'package.json'), '{"name":"vitest","main":"index.js"}\n');
  writeFileSync(join(wd, 'node_modules', 'vitest', 'index.js'), 'module.exports = {};\n');
  writeFileSync(join(wd, 'node_modules', '.bin', 'vitest'), '#!/usr/bin/env node\nrequire("../vitest");\n');
  writeFileSync(join(wd, '.gitignore'), 'node_modules/\n');
}

describe.skipIf(skip)('escape: code the host runs from folders nobody reviews', () => {
  it("holds back a changed node_modules/.bin script, package main and a package's scripts", async () => {
    const { workdir, exit } = await runInJail(
      [
        "echo 'touch /tmp/pwned' >> node_modules/.bin/vitest",
        `echo 'require("child_process").execSync("touch /tmp/pwned")' >> node_modules/vitest/index.js`,
        `echo '{"name":"vitest","main":"evil.js","scripts":{"postinstall":"touch /tmp/pwned"}}' > node_modules/vitest/package.json`,
        'echo work > result.txt',
      ].join('\n'),
      { prepare: installed },
    );
    expect(readFileSync(join(workdir, 'node_modules', '.bin', 'vitest'), 'utf8')).not.toContain('pwned');
    expect(readFileSync(join(workdir, 'node_modules', 'vitest', 'index.js'), 'utf8')).not.toContain('pwned');
    expect(readFileSync(join(workdir, 'node_modules', 'vitest', 'package.json'), 'utf8')).not.toContain(
      'pwned',
    );
    expect(readFileSync(join(workdir, 'result.txt'), 'utf8')).toBe('work\n');
    // One note for the folder, however many files changed in it.
    expect(heldOf(exit.workdir.notes)).toEqual(['node_modules']);
  });

  it('holds back a whole node_modules planted where there was none, at any depth and spelling', async () => {
    const { workdir, exit } = await runInJail(
      [
        'mkdir -p node_modules/.bin packages/app/node_modules/jest Node_Modules/x',
        "printf '#!/bin/sh\\ntouch /tmp/pwned\\n' > node_modules/.bin/jest",
        'echo "module.exports=1" > packages/app/node_modules/jest/index.js',
        'echo x > Node_Modules/x/index.js',
        'echo app > packages/app/index.js',
      ].join('\n'),
    );
    expect(existsSync(join(workdir, 'node_modules'))).toBe(false);
    expect(existsSync(join(workdir, 'packages', 'app', 'node_modules'))).toBe(false);
    expect(existsSync(join(workdir, 'Node_Modules'))).toBe(false);
    expect(readFileSync(join(workdir, 'packages', 'app', 'index.js'), 'utf8')).toBe('app\n');
    expect(heldOf(exit.workdir.notes).sort()).toEqual(
      ['Node_Modules', 'node_modules', 'packages/app/node_modules'].sort(),
    );
  });

  it('holds back a folder linked in as node_modules, and what a host node_modules link points at', async () => {
    const { workdir, exit } = await runInJail(
      [
        'mkdir -p deps/.bin && echo "touch /tmp/pwned" > deps/.bin/jest',
        'ln -s deps node_modules',
        'echo "touch /tmp/pwned" > .cache/nm/.bin/vitest',
      ].join('\n'),
      {
        prepare: (wd) => {
          mkdirSync(join(wd, '.cache', 'nm', '.bin'), { recursive: true });
          writeFileSync(join(wd, '.cache', 'nm', '.bin', 'vitest'), 'ok\n');
          mkdirSync(join(wd, 'web'));
          // a host link: web/node_modules -> ../.cache/nm
          symlinkSync('../.cache/nm', join(wd, 'web', 'node_modules'));
        },
      },
    );
    expect(existsSync(join(workdir, 'node_modules'))).toBe(false);
    expect(readFileSync(join(workdir, '.cache', 'nm', '.bin', 'vitest'), 'utf8')).toBe('ok\n');
    expect(heldOf(exit.workdir.notes)).toEqual(
      expect.arrayContaining(['node_modules', '.cache/nm/.bin/vitest']),
    );
  });

  it('holds back deleting node_modules, in one note', async () => {
    const { workdir, exit } = await runInJail('rm -rf node_modules', { prepare: installed });
    expect(existsSync(join(workdir, 'node_modules', '.bin', 'vitest'))).toBe(true);
    expect(heldOf(exit.workdir.notes)).toEqual(['node_modules']);
  });

  it('holds back Python bytecode, vendored and build-cache code the next test run loads', async () => {
    // A __pycache__/*.pyc whose header matches the source's size and mtime runs instead of the
    // source; cargo and maven run what target/ holds when it looks newer than the sources.
    const planted = [
      'src/__pycache__/app.cpython-311.pyc',
      'lib/mod.pyc',
      'vendor/autoload.php',
      'go/vendor/modules.txt',
      'target/debug/app',
      '__pypackages__/3.11/lib/x.py',
      '.tox/py311/bin/pytest',
      'bower_components/x/x.js',
    ];
    const { workdir, exit } = await runInJail(plant(planted));
    for (const path of planted) expect(existsSync(join(workdir, path)), path).toBe(false);
    expect(heldOf(exit.workdir.notes).sort()).toEqual(
      [
        'src/__pycache__',
        'lib/mod.pyc',
        'vendor',
        'go/vendor',
        'target',
        '__pypackages__',
        '.tox',
        'bower_components',
      ].sort(),
    );
  });

  it('holds back build wrappers, their properties and tool configs that name code to fetch or run', async () => {
    const planted = [
      'gradlew',
      'gradlew.bat',
      'gradle/wrapper/gradle-wrapper.properties',
      'gradle/wrapper/gradle-wrapper.jar',
      'mvnw',
      '.mvn/wrapper/maven-wrapper.properties',
      '.mvn/jvm.config',
      '.mvn/extensions.xml',
      '.gradle/init.gradle',
      '.cargo/config.toml',
      '.bundle/config',
      '.yarn/releases/yarn.cjs',
      '.yarnrc.yml',
      '.pnp.cjs',
      '.pnp.loader.mjs',
      'app.code-workspace',
      'sub/Team.Code-Workspace',
      '.python-version',
      '.nvmrc',
      '.node-version',
      '.ruby-version',
    ];
    const { workdir, exit } = await runInJail(plant(planted), {
      prepare: (wd) => {
        mkdirSync(join(wd, 'gradle', 'wrapper'), { recursive: true });
        writeFileSync(
          join(wd, 'gradle', 'wrapper', 'gradle-wrapper.properties'),
          'distributionUrl=https\\://services.gradle.org/distributions/gradle-8.5-bin.zip\n',
        );
      },
    });
    for (const path of planted.filter((p) => !p.endsWith('gradle-wrapper.properties')))
      expect(existsSync(join(workdir, path)), path).toBe(false);
    expect(readFileSync(join(workdir, 'gradle', 'wrapper', 'gradle-wrapper.properties'), 'utf8')).toContain(
      'services.gradle.org',
    );
    const held = heldOf(exit.workdir.notes);
    for (const path of [
      'gradlew',
      'gradle/wrapper/gradle-wrapper.properties',
      '.mvn',
      '.gradle',
      '.cargo',
      '.bundle',
      '.yarn',
      '.pnp.cjs',
      'app.code-workspace',
      'sub/Team.Code-Workspace',
      '.python-version',
      '.nvmrc',
    ])
      expect(held).toContain(path);
  });

  it('carries node_modules when the profile names it', async () => {
    const { workdir } = await runInJail("echo 'patched' >> node_modules/vitest/index.js", {
      prepare: installed,
      carryOver: ['node_modules'],
    });
    expect(readFileSync(join(workdir, 'node_modules', 'vitest', 'index.js'), 'utf8')).toContain('patched');
  });
});
