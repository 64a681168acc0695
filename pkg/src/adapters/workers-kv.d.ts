export { WorkersKvHost } from '../index.js';
