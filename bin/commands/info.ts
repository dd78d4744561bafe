/** `genius-native info`: the package, the libtorch it runs on, and the devices it can use. */
import type { CommandModule } from 'yargs';
import { runtimeInfo, version } from '../../lib';

interface InfoArgs {
  json: boolean;
}

export const infoCommand: CommandModule<object, InfoArgs> = {
  command: 'info',
  describe: 'Show the version, the libtorch in use, CUDA support and devices',
  builder: (yargs) => yargs.option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
  handler: (args) => {
    const info = runtimeInfo();
    if (args.json) {
      console.log(JSON.stringify({ event: 'info', version, ...info }));
      return;
    }
    const rows: [string, string][] = [
      ['genius-native', version],
      ['libtorch', `${info.torchVersion} (${info.buildType} build)`],
      ['libtorch path', info.torchLoadedFrom],
      ['built against', info.torchBuiltAgainst],
      ['CUDA kernels', info.cudaKernels ? 'compiled' : 'not compiled (CPU-only build)'],
      ['CUDA in libtorch', info.torchHasCuda ? 'yes' : 'no'],
      ['CUDA available', info.cudaAvailable ? 'yes' : 'no'],
      ['devices', info.devices.join(', ')],
      ['threads', `${info.threads} intra-op, ${info.interopThreads} inter-op`],
    ];
    const width = Math.max(...rows.map(([key]) => key.length));
    for (const [key, value] of rows) console.log(`${key.padEnd(width)}  ${value}`);
  },
};
