import type { Access } from './access.js';

/**
 * What a request needs, by route and method: pull to read, push (with pull, as docker asks) to
 * write, delete to delete, and `registry:catalog:*` for the catalog. The base route needs only an
 * authenticated caller.
 */
export function requiredAccess(route: string, method: string, params: Record<string, string>): Access[] {
  if (route === 'base') return [];
  if (route === 'catalog') return [{ type: 'registry', name: 'catalog', actions: ['*'] }];
  const name = params.name!;
  const repository = (actions: string[]): Access[] => [{ type: 'repository', name, actions }];
  switch (method) {
    case 'GET':
    case 'HEAD':
      return repository(['pull']);
    case 'DELETE':
      return route === 'upload' ? repository(['pull', 'push']) : repository(['delete']);
    default:
      return repository(['pull', 'push']);
  }
}
