/**
 * npm run prove: synthesizes both stacks, evaluates their IAM policies with a real IAM policy
 * evaluator and prints what is allowed and what is denied. Exits 1 when any expectation fails.
 *
 * Configuration as for synth (ACCOUNT_B_ID or TARGETS, NAME_PREFIX, OBJECT_KEY, ...); with several
 * targets every question is asked per target, and the questions across targets follow. ACCOUNT_B_ID defaults to
 * 222222222222 and account A to 111111111111 when ACCOUNT_A_ID is unset.
 */
import { ConfigError } from "../../stacks/config";
import { formatProof, prove } from "./model";
import { buildPipelineModel, formatPipelineProof, provePipeline } from "./pipeline-model";

async function main(): Promise<number> {
  const { models, rows } = await prove(process.env);
  console.log(formatProof(models, rows));
  // The pipeline's OIDC identity (an example repository when PIPELINE_REPOSITORY is unset).
  const pipeline = buildPipelineModel(process.env);
  const pipelineRows = await provePipeline(pipeline);
  console.log(`\n${formatPipelineProof(pipeline, pipelineRows)}`);
  return rows.every((r) => r.ok) && pipelineRows.every((r) => r.ok) ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => {
  console.error(error instanceof ConfigError ? error.message : `prove: ${error instanceof Error ? error.stack : error}`);
  process.exit(1);
});
