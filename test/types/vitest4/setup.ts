// What a user's setup file (test.setupFiles) does; it brings the matcher types into the program.
import 'robustest/vitest';
