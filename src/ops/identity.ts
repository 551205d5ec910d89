import { activation } from './activation.js';
import { ONE_TO_ONE } from './op.js';

// strictly monotonic: one to one
export const IDENTITY = activation('identity', ONE_TO_ONE);
