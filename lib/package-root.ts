import fs from 'node:fs';
import path from 'node:path';

/** The directory of genius-native's package.json, from lib/ (tests) or dist/lib/ (installed). */
export const packageRoot: string = (() => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'CMakeLists.txt'))) return dir;
  }
  throw new Error(`genius-native: no package root above ${__dirname}`);
})();
