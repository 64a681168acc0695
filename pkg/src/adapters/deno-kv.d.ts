export { DenoKvHost } from '../index.js';
