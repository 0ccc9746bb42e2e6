/**
 * Create a container as docker's CLI does: `--pull always` pulls first; a create that fails with
 * "no such image" under `--pull missing` says `Unable to find image 'NAME:TAG' locally`, pulls
 * (progress on stderr, nothing with -q) and tries again. The daemon's warnings are printed as
 * `WARNING: ...`; `--cidfile` gets the new ID (and must not exist before).
 */
import { open, rm } from 'node:fs/promises';
import { familiarName, parseImageReference, type ImageReference } from '../../../shared/reference.js';
import { CliError, isDaemonNotFound } from '../cli-error.js';
import type { CliContext } from '../context.js';
import { displayMessages } from '../progress/display.js';
import { jsonMessages } from '../progress/json-stream.js';
import { registryAuthHeader } from '../registry-auth.js';
import type { PullPolicy } from './flag-values.js';

export interface CreateOptions {
  name?: string;
  platform?: string;
  pull: PullPolicy;
  quiet?: boolean;
  cidfile?: string;
}

interface CreateResponse {
  Id: string;
  Warnings?: string[] | null;
}

/** The image as a name to pull (tag `latest` when none), or undefined for an image ID. */
function pullableReference(image: string): ImageReference | undefined {
  if (/^(sha256:)?[0-9a-f]{64}$/.test(image)) return undefined;
  try {
    return parseImageReference(image, { defaultTag: 'latest' });
  } catch {
    return undefined;
  }
}

/** docker's FamiliarString: `busybox:latest`, `127.0.0.1:5000/a/b:v1`, `x@sha256:...`. */
function familiarText(ref: ImageReference): string {
  return `${familiarName(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

async function pull(ctx: CliContext, ref: ImageReference, options: CreateOptions): Promise<void> {
  const response = await ctx.api.send({
    method: 'POST',
    path: '/images/create',
    query: { fromImage: familiarName(ref), tag: ref.digest ?? ref.tag, platform: options.platform || undefined },
    headers: { 'X-Registry-Auth': await registryAuthHeader(ref.domain, ctx.dockerConfig) },
  });
  const stderr = ctx.stderr as typeof ctx.stderr & { isTTY?: boolean; columns?: number };
  const sink = options.quiet ? { write: () => undefined } : { write: (text: string) => ctx.err(text) };
  await displayMessages(jsonMessages(response), sink, { isTerminal: stderr.isTTY === true, terminalWidth: () => stderr.columns ?? 0 });
}

async function reserveCidfile(path: string | undefined): Promise<(id: string | undefined) => Promise<void>> {
  if (!path) return async () => {};
  let handle;
  try {
    handle = await open(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`container ID file found, make sure the other container isn't running or delete ${path}`);
    throw new CliError(`failed to create the container ID file: ${(err as Error).message}`);
  }
  return async (id) => {
    try {
      if (id !== undefined) await handle.writeFile(id);
    } finally {
      await handle.close();
      if (id === undefined) await rm(path, { force: true });
    }
  };
}

/** Create the container; resolves to its ID. */
export async function createContainer(ctx: CliContext, body: Record<string, unknown>, options: CreateOptions): Promise<string> {
  const ref = pullableReference(String(body.Image));
  const finishCidfile = await reserveCidfile(options.cidfile);
  const create = () =>
    ctx.api.json<CreateResponse>({
      method: 'POST',
      path: '/containers/create',
      query: { name: options.name || undefined, platform: options.platform || undefined },
      json: body,
    });
  let created: CreateResponse;
  try {
    if (options.pull === 'always' && ref) await pull(ctx, ref, options);
    try {
      created = await create();
    } catch (err) {
      if (!(isDaemonNotFound(err) && ref && options.pull === 'missing')) throw err;
      if (!options.quiet) ctx.err(`Unable to find image '${familiarText(ref)}' locally\n`);
      await pull(ctx, ref, options);
      created = await create();
    }
  } catch (err) {
    await finishCidfile(undefined);
    throw err;
  }
  for (const warning of created.Warnings ?? []) ctx.err(`WARNING: ${warning}\n`);
  await finishCidfile(created.Id);
  return created.Id;
}
