// xdp_decap against the reference codec: generated scenarios and the table of decapsulation rules.
import { decapSuite } from './decap-suite.js';

decapSuite('xdp_decap');
