/* eslint-disable @typescript-eslint/no-require-imports -- a plain Node script, spawned: require() is how it loads */
'use strict';
// Runs the genius-native CLI from its TypeScript sources (transpiled as they load, see register-ts.js), so that
// tests can spawn it as a separate process without building dist/.
require('./register-ts');
require('../../bin/cli.ts').main(process.argv.slice(2));
