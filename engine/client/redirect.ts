/**
 * Follows redirects (blob GETs sent to a storage URL), bounded in hops. A hop to another origin
 * drops the Authorization header: the registry's credentials never reach the storage host. A hop
 * from https to http is refused.
 */
import { TsdError } from '../../shared/errors.js';
import { discard, displayURL, type HttpRequest, type Interceptor } from './transport.js';

export interface RedirectOptions {
  /** Hops followed before giving up (default 5). */
  maxRedirects?: number;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);

export function redirects(options: RedirectOptions = {}): Interceptor {
  const max = options.maxRedirects ?? 5;
  return (next) => async (request) => {
    let current: HttpRequest = request;
    for (let hop = 0; ; hop++) {
      const res = await next(current);
      const location = res.headers.location;
      if (!redirectStatuses.has(res.status) || location === undefined || current.followRedirects === false) return res;
      discard(res);
      if (hop >= max) throw new TsdError('UNKNOWN', `${request.method} ${displayURL(request.url)}: more than ${max} redirects`);
      let target: URL;
      try {
        target = new URL(location, current.url);
      } catch {
        throw new TsdError('UNKNOWN', `${current.method} ${displayURL(current.url)}: redirect to an invalid URL`);
      }
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new TsdError('UNKNOWN', `redirect to unsupported scheme ${target.protocol}`);
      if (current.url.protocol === 'https:' && target.protocol === 'http:') {
        throw new TsdError('UNKNOWN', `${current.method} ${displayURL(current.url)}: refusing a redirect from https to http`);
      }
      const headers = { ...current.headers };
      if (target.origin !== current.url.origin) delete headers.authorization;
      let method = current.method;
      let body = current.body;
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
        delete headers['content-type'];
        delete headers['content-length'];
      }
      current = { ...current, method, url: target, headers, body };
    }
  };
}
