#!/usr/bin/env node
'use strict';
// prebuildify only knows how to spawn node-gyp (`node-gyp rebuild --target=… --release`); this shim
// stands in for it and builds with cmake-js instead, leaving build/Release/genius-native.node for
// prebuildify to pick up. N-API builds do not depend on the target Node version, so it is ignored.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const build = spawnSync(process.execPath, [path.join(__dirname, 'build-native.js'), '--force'], { stdio: 'inherit' });
process.exit(build.status ?? 1);
