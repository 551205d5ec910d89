import { activation } from './activation.js';
import { INVERTIBLE } from './op.js';

// strictly monotonic: each value gives its input; sums of outputs are not linear in the inputs
export const TANH = activation('tanh', INVERTIBLE);
