import { describe } from 'node:test';
import { swiftTarget } from '../helpers/targets.js';
import { roundTripSuite } from './roundtrip-suite.js';

describe('round trips: swift store', () => roundTripSuite(swiftTarget));
