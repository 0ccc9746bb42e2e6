import { resolve } from 'node:path';
import type { StorageBackend } from '../shared/storage-backend.js';
import { backendFactories } from '../storage-backends/index.js';
import { storageDriver, type RegistryConfig } from './config.js';
import { Registry } from './registry/registry.js';

/** The configured storage driver and the registry services over it (serve and garbage-collect share this). */
export async function openRegistry(config: RegistryConfig): Promise<{ registry: Registry; backend: StorageBackend; driver: string }> {
  const driver = storageDriver(config);
  const options = driver.name === 'filesystem' ? { ...driver.options, rootdirectory: resolve(String(driver.options.rootdirectory)) } : driver.options;
  const backend = await backendFactories[driver.name]!(options, { redirect: driver.name !== 'filesystem' && config.storage.redirect?.disable !== true });
  return { registry: new Registry(backend), backend, driver: driver.name };
}
