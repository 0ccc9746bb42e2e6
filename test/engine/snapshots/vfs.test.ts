/** The shared snapshotter suite, run by the vfs driver. */
import { snapshotterSuite } from './suite.js';

snapshotterSuite('vfs');
