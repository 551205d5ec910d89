import { activation } from './activation.js';
import { ONE_TO_ONE } from './op.js';

// strictly monotonic: one to one
export const TANH = activation('tanh', ONE_TO_ONE);
