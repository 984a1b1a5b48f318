// Types of cdktf's jest matchers (registered by Testing.setupJest() in setup.ts).
import "cdktf/lib/testing/adapters/jest";
