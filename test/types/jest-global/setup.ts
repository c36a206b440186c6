// What setupFilesAfterEnv: ['robustest/jest'] corresponds to, for the type checker.
import 'robustest/jest';
