import { MemoryBackend } from './memory.js';
import { backendSuite } from './suite.js';

backendSuite('memory', async () => ({ backend: new MemoryBackend() }));
