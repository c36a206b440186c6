export { importGraphDef, importGraphModel, type ConstValues, type GraphImportOptions, type GraphModelLike } from './import.js';
