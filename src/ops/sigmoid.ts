import { activation } from './activation.js';
import { ONE_TO_ONE } from './op.js';

// strictly monotonic: one to one
export const SIGMOID = activation('sigmoid', ONE_TO_ONE);
