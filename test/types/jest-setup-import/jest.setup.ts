// The setup file named in jest.config.js (setupFilesAfterEnv: ['./jest.setup.ts']).
import 'robustest/jest';
