import { activation } from './activation.js';
import { ONE_TO_ONE } from './op.js';

// strictly monotonic: one to one
export const SOFTPLUS = activation('softplus', ONE_TO_ONE);
