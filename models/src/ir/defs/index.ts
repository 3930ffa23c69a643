/** Importing this module registers every operator definition. */
import './elementwise.js';
import './shape-ops.js';
import './reduce.js';
import './nn.js';
