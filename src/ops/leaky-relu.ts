import { activation } from './activation.js';
import { ONE_TO_ONE } from './op.js';

// strictly monotonic: one to one
export const LEAKY_RELU = activation('leaky_relu', ONE_TO_ONE);
