import { describe } from 'node:test';
import { localTarget } from '../helpers/targets.js';
import { roundTripSuite } from './roundtrip-suite.js';

describe('round trips: local store', () => roundTripSuite(localTarget));
