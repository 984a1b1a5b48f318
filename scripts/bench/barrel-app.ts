/**
 * Benchmark baseline: the same app, but with the provider loaded through the package barrel
 * (`import * as aws from "@cdktf/provider-aws"`), as most cdktf examples do. Never used by the app.
 */
import * as aws from "@cdktf/provider-aws";
import { synthApp } from "../../main";

// Touch the barrel so no bundler or lazy getter can skip loading it.
if (Object.keys(aws).length < 1000) throw new Error("unexpected @cdktf/provider-aws barrel");
synthApp();
