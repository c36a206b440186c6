export { importOnnx, type OnnxImportOptions } from './import.js';
