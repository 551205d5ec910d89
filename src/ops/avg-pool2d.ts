import { avgPool2d } from '../autodiff/prims/pool.js';
import { pool, WINDOW_MEAN } from './pool-window.js';

export const AVG_POOL2D = pool('avg_pool2d', avgPool2d, WINDOW_MEAN);
