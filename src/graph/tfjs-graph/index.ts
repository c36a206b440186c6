export { importGraphDef, importGraphModel, type GraphImportOptions, type GraphModelLike } from './import.js';
