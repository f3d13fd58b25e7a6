import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadAddon } from '../runtime/cpu/index.js';
import { SWIFTSHADER_ICD } from '../runtime/webgpu/node.js';

const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';
const REQUIRE = process.env['KEOPSC_REQUIRE_WEBGPU'] === '1';

/** Run a tiny webgpu kernel (7, 14) in a child process with `env` changes; undefined values unset. */
function child(env: Record<string, string | undefined>): { status: number | null; stdout: string; stderr: string } {
  const e: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['VK_ICD_FILENAMES', 'KEOPSC_DEBUG', 'KEOPSC_QUIET', 'VK_LOADER_DRIVERS_SELECT']) delete e[k];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) e[k] = v;
  const r = spawnSync(process.execPath, ['--import', 'tsx', join('test', 'helpers', 'webgpu-child.ts')], { env: e, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('webgpu: quiet drivers', function () {
  this.timeout(180_000);
  before(function () {
    const why = !loadAddon()?.muteStderr ? 'the native addon (which mutes fd 2) is not built' : !existsSync(LAVAPIPE_ICD) ? `Mesa lavapipe is not installed (${LAVAPIPE_ICD})` : !existsSync(SWIFTSHADER_ICD) ? `SwiftShader is not installed (${SWIFTSHADER_ICD})` : undefined;
    if (!why) return;
    if (REQUIRE) throw new Error(`KEOPSC_REQUIRE_WEBGPU=1 but ${why}`);
    console.log(`      (skipped: ${why})`);
    this.skip();
  });

  it("keeps Dawn's and Mesa's warnings off stderr, and shows them with KEOPSC_DEBUG", () => {
    const quiet = child({ VK_ICD_FILENAMES: LAVAPIPE_ICD, XDG_RUNTIME_DIR: undefined });
    expect(quiet.status, quiet.stderr).to.equal(0);
    expect(quiet.stdout).to.equal('7,14\n');
    expect(quiet.stderr).to.equal('');
    // the same run with KEOPSC_DEBUG shows what was muted (Dawn on lavapipe warns about its limits)
    const loud = child({ VK_ICD_FILENAMES: LAVAPIPE_ICD, KEOPSC_DEBUG: '1' });
    expect(loud.status).to.equal(0);
    expect(loud.stdout).to.equal('7,14\n');
    expect(loud.stderr).to.match(/Warning: maxDynamic\w+PerPipelineLayout artificially reduced/);
  });

  it('says in one line when it falls back to SwiftShader, and nothing with KEOPSC_QUIET', () => {
    // no driver the loader finds by itself: keopsc retries with SwiftShader
    const r = child({ VK_LOADER_DRIVERS_SELECT: '*swiftshader*' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('7,14\n');
    expect(r.stderr).to.equal(`keopsc: no GPU adapter found; the webgpu backend uses SwiftShader (CPU Vulkan, ${SWIFTSHADER_ICD})\n`);
    const q = child({ VK_LOADER_DRIVERS_SELECT: '*swiftshader*', KEOPSC_QUIET: '1' });
    expect(q.stdout).to.equal('7,14\n');
    expect(q.stderr).to.equal('');
  });
});
