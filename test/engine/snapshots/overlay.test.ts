/** The shared snapshotter suite, run by the overlay driver. */
import { snapshotterSuite } from './suite.js';

snapshotterSuite('overlay');
