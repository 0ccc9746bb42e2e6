export { createRegistryClient, defaultManifestAccept, nextLink } from './registry-client.js';
export type { RegistryClient, RegistryClientOptions, Descriptor, FetchedManifest, FetchBlobOptions, ManifestOptions, RequestOptions } from './registry-client.js';
export type { BlobSource, PushBlobOptions, PushBlobResult } from './blob-upload.js';
export { RegistryAuth, scopeAtoms, formatScopes, type Credentials, type CredentialSource, type AuthOptions } from './auth.js';
export { parseChallenges, type Challenge } from './challenge.js';
export { retry, retryAfterMs, type RetryOptions } from './retry.js';
export { redirects, type RedirectOptions } from './redirect.js';
export { compose, createTransport, type Dispatch, type Interceptor, type HttpRequest, type HttpResponse, type TransportOptions } from './transport.js';
export { registryBaseURL, isLoopbackHost, type EndpointOptions } from './endpoint.js';
export {
  dockerConfigPath,
  dockerCredentials,
  dockerConfigCredentials,
  staticCredentials,
  credentialKey,
  readDockerConfig,
  writeDockerConfig,
  runCredentialHelper,
  dockerHubAuthKey,
  type DockerConfigOptions,
} from './credentials.js';
export { login, logout, storeCredentials, verifyLogin } from './login.js';
