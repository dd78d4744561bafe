import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Tensor } from '../lib';
import { liveTensors } from '../lib/testing';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Lets pending finalizers (FinalizationRegistry, ObjectWrap) run after a collection. */
async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const cycles = 20_000;
const data = new Float32Array(16 * 1024); // 64 KiB per tensor: 20k leaked would be 1.3 GB

describe('native memory stays bounded', () => {
  it(`${cycles} create/dispose cycles free every tensor`, async () => {
    await collect();
    const live = liveTensors();
    const rss = process.memoryUsage().rss;
    for (let i = 0; i < cycles; i++) {
      const tensor = Tensor.from(data, [data.length]);
      tensor.dispose();
    }
    await collect();
    expect(liveTensors()).toBe(live);
    expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 1024 * 1024);
  });

  it(`${cycles} tensors dropped without dispose are freed by GC`, async () => {
    await collect();
    const live = liveTensors();
    const rss = process.memoryUsage().rss;
    let peakLive = 0;
    for (let i = 0; i < cycles; i++) {
      Tensor.from(data, [data.length]);
      if (i % 1000 === 0) {
        await collect();
        peakLive = Math.max(peakLive, liveTensors() - live);
      }
    }
    await collect();
    expect(peakLive).toBeLessThan(2000);
    expect(liveTensors() - live).toBeLessThan(50);
    expect(process.memoryUsage().rss - rss).toBeLessThan(300 * 1024 * 1024);
  });
});
