import { runService } from '@yubin/runtime';
import { start } from './start.js';

await runService('smtp', start);
