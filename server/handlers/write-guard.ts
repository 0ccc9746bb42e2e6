import { TsdError } from '../../shared/errors.js';
import type { RequestContext } from './context.js';

export function assertWritable(ctx: RequestContext): void {
  if (ctx.options.readOnly) throw new TsdError('UNSUPPORTED', 'the registry is in read-only mode');
  const name = ctx.params.name;
  if (name !== undefined && ctx.options.readOnlyRepository?.(name)) {
    throw new TsdError('UNSUPPORTED', `repository "${name}" is a pull-through cache of an upstream registry and cannot be pushed to`);
  }
}

export function assertDeletable(ctx: RequestContext): void {
  assertWritable(ctx);
  if (!ctx.options.deleteEnabled) throw new TsdError('UNSUPPORTED', 'deletion is disabled (storage.delete.enabled)');
}
