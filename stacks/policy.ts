/**
 * IAM policy documents as typed data, rendered once to JSON at synth time.
 *
 * Unlike the `aws_iam_policy_document` data source, the rendered document is readable in
 * `cdk.tf.json`, in `cdktf synth --hcl`, in the snapshots and by the policy tests, and it stays
 * concrete under `terraform test` mock providers. References to other resources (role ARNs,
 * bucket ARNs) are cdktf tokens and render as Terraform interpolations inside the JSON string.
 */
import { App, Fn } from "cdktf";
import type { IConstruct } from "constructs";

export type OneOrMany<T> = T | readonly T[];

export type ConditionOperator =
  | "StringEquals"
  | "StringNotEquals"
  | "StringLike"
  | "ArnEquals"
  | "ArnLike"
  | "ArnNotEquals"
  | "Bool";

export type Conditions = Partial<Record<ConditionOperator, Record<string, OneOrMany<string>>>>;

export type Principal =
  | "*"
  | { readonly AWS?: OneOrMany<string>; readonly Service?: OneOrMany<string>; readonly Federated?: string };

export interface Statement {
  readonly Sid: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: Principal;
  readonly Action: OneOrMany<string>;
  readonly Resource?: OneOrMany<string>;
  readonly Condition?: Conditions;
}

export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly Statement[];
}

export function policy(...statements: Statement[]): PolicyDocument {
  const sids = statements.map((s) => s.Sid);
  const duplicate = sids.find((sid, i) => sids.indexOf(sid) !== i);
  if (duplicate) throw new Error(`Duplicate policy Sid "${duplicate}"`);
  for (const s of statements) {
    if (!/^[A-Za-z0-9]+$/.test(s.Sid)) throw new Error(`Policy Sid "${s.Sid}" must be alphanumeric`);
  }
  return { Version: "2012-10-17", Statement: statements };
}

/**
 * The policy as Terraform sees it, rendered once per resource attribute.
 *
 * JSON synth (`cdktf synth`, `cdktf deploy`): the JSON text itself, readable in cdk.tf.json and
 * the snapshots. HCL synth (`cdktf synth --hcl`): `jsonencode({...})`, because cdktf 0.21 writes a
 * string that mixes JSON quotes with Terraform references as invalid HCL (terraform-cdk#3911).
 * Both give AWS the same document.
 */
export function render(scope: IConstruct, document: PolicyDocument): string {
  return App.of(scope).hclOutput ? Fn.jsonencode(document) : JSON.stringify(document);
}
