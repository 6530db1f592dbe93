import { describe } from 'node:test';
import { motoTarget } from '../helpers/targets.js';
import { roundTripSuite } from './roundtrip-suite.js';

describe('round trips: moto store', () => roundTripSuite(motoTarget));
