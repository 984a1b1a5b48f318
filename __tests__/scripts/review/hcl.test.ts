/**
 * The JSON-to-HCL renderer's rules, on small configurations with a hand-written block tree (the
 * real stacks against the real provider schema, fmt and validate: review.terraform.test.ts).
 */
import { policyDocumentOf, renderHcl, templateExpression, templateSegments } from "../../../scripts/review/hcl";
import type { ProviderBlocks } from "../../../scripts/review/provider-schema";

const SCHEMA: ProviderBlocks = {
  provider: { assume_role: { mode: "list", blocks: {} }, default_tags: { mode: "list", blocks: {} } },
  resources: {
    aws_s3_bucket_lifecycle_configuration: { rule: { mode: "list", blocks: { filter: { mode: "list", blocks: {} }, expiration: { mode: "list", blocks: {} } } } },
    aws_iam_role: { inline_policy: { mode: "set", blocks: {} } },
  },
  dataSources: { aws_region: {} },
};

describe("templateExpression", () => {
  it.each([
    ["an interpolation-only template becomes the bare expression", "${aws_iam_role.r.arn}", "aws_iam_role.r.arn"],
    ["a function call with quoted arguments stays intact", '${can(regex("^arn:[0-9]{12}$", var.x))}', 'can(regex("^arn:[0-9]{12}$", var.x))'],
    ["a mixed template stays quoted, its interpolation verbatim", "${aws_s3_bucket.b.arn}/*", '"${aws_s3_bucket.b.arn}/*"'],
    ["a plain string is quoted", "us-east-1", '"us-east-1"'],
    ["quotes, backslashes and newlines of the literal text are escaped", 'say "hi"\\\n', '"say \\"hi\\"\\\\\\n"'],
    ["an escaped interpolation stays literal (IAM policy variables)", "home/$${aws:username}/*", '"home/$${aws:username}/*"'],
    ["a brace inside a quoted argument does not end the interpolation", '${replace(var.x, "}", "")}', 'replace(var.x, "}", "")'],
  ])("%s", (_name, input, expected) => {
    expect(templateExpression(input)).toBe(expected);
  });

  it("splits a template into literal text and sequences", () => {
    expect(templateSegments('a${x}b%{ if y }c%{ endif }$${z}')).toEqual([
      { literal: "a" }, { sequence: "${x}" }, { literal: "b" }, { sequence: "%{ if y }" }, { literal: "c" }, { sequence: "%{ endif }" }, { literal: "$${z}" },
    ]);
    expect(() => templateSegments("${unterminated")).toThrow(/unterminated template sequence/);
  });
});

describe("policyDocumentOf", () => {
  it("recognizes a JSON document with a Statement and nothing else", () => {
    expect(policyDocumentOf('{"Version":"2012-10-17","Statement":[]}')).toEqual({ Version: "2012-10-17", Statement: [] });
    expect(policyDocumentOf('{"Version":"2012-10-17"}')).toBeUndefined();
    expect(policyDocumentOf("not json")).toBeUndefined();
    expect(policyDocumentOf("[1]")).toBeUndefined();
  });
});

describe("renderHcl", () => {
  const config = {
    "//": { metadata: { stackName: "s" } },
    terraform: { backend: { local: { path: "../s.tfstate" } }, required_providers: { aws: { source: "aws", version: "5.100.0" } } },
    provider: { aws: [{ region: "us-east-1" }, { region: "eu-west-1", alias: "b", assume_role: [{ role_arn: "arn:aws:iam::2:role/t" }] }] },
    variable: { who: { type: "string", validation: [{ condition: "${length(var.who) > 0}", error_message: "say who" }] } },
    data: { aws_region: { here: { provider: "aws.b" } } },
    resource: {
      aws_iam_role: {
        r: {
          "//": { metadata: { path: "s/role" } },
          assume_role_policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "A", Effect: "Allow", Principal: { AWS: "${var.who}" }, Action: ["sts:AssumeRole", "sts:TagSession"], Condition: { StringEquals: { "sts:ExternalId": "x" } } }] }),
          depends_on: ["aws_s3_bucket_lifecycle_configuration.l"],
          lifecycle: { prevent_destroy: true, ignore_changes: ["tags"] },
          name: "r",
          provider: "aws.b",
          tags: { Project: "p", "cost-center": "1", "a:b": "2" },
        },
      },
      aws_s3_bucket_lifecycle_configuration: {
        l: { bucket: "b", rule: [{ id: "keep", status: "Enabled", filter: [{ prefix: "" }], expiration: [{ days: 1 }] }] },
      },
    },
    output: { arn: { value: "${aws_iam_role.r.arn}", depends_on: ["aws_iam_role.r"] } },
  };
  const hcl = renderHcl(config, SCHEMA, ["header line"]);

  it("writes blocks where the schema has them and attributes elsewhere (tags stay a map)", () => {
    expect(hcl).toContain('  rule {\n    id = "keep"\n    status = "Enabled"\n    filter {\n      prefix = ""\n    }\n    expiration {\n      days = 1\n    }\n  }');
    expect(hcl).toContain('  tags = {\n    Project = "p"\n    cost-center = "1"\n    "a:b" = "2"\n  }');
    expect(hcl).toContain('  assume_role {\n    role_arn = "arn:aws:iam::2:role/t"\n  }');
  });

  it("writes meta-arguments as native references: provider first, lifecycle and depends_on last", () => {
    expect(hcl).toMatch(/# s\/role\nresource "aws_iam_role" "r" \{\n {2}provider = aws\.b\n/);
    expect(hcl).toMatch(/ {2}lifecycle \{\n {4}prevent_destroy = true\n {4}ignore_changes = \[tags\]\n {2}\}\n {2}depends_on = \[aws_s3_bucket_lifecycle_configuration\.l\]\n\}/);
    expect(hcl).toContain('data "aws_region" "here" {\n  provider = aws.b\n}');
    expect(hcl).toContain('provider "aws" {\n  alias = "b"\n');
    expect(hcl).toContain("  type = string\n");
    expect(hcl).toContain("    condition = length(var.who) > 0\n");
    expect(hcl).toContain('output "arn" {\n  value = aws_iam_role.r.arn\n  depends_on = [aws_iam_role.r]\n}');
    expect(hcl).toContain('terraform {\n  backend "local" {\n    path = "../s.tfstate"\n  }\n  required_providers {\n    aws = {\n');
    expect(hcl.startsWith("# header line\n\nterraform {")).toBe(true);
  });

  it("spreads a policy document: one statement per object, one key and one action per line, references bare", () => {
    expect(hcl).toContain([
      "  assume_role_policy = jsonencode({",
      '    Version = "2012-10-17"',
      "    Statement = [",
      "      {",
      '        Sid = "A"',
      '        Effect = "Allow"',
      "        Principal = {",
      "          AWS = var.who",
      "        }",
      "        Action = [",
      '          "sts:AssumeRole",',
      '          "sts:TagSession",',
      "        ]",
      "        Condition = {",
      "          StringEquals = {",
      '            "sts:ExternalId" = "x"',
      "          }",
      "        }",
      "      },",
      "    ]",
      "  })",
    ].join("\n"));
  });

  it("renders a retired target's removed blocks (forget, never destroy) with the address as a reference", () => {
    const hcl = renderHcl({ removed: [{ from: "aws_s3_bucket.report-bucket-333333333333_bucket_569A5FC4", lifecycle: { destroy: false } }] }, SCHEMA);
    expect(hcl).toContain(["removed {", "  from = aws_s3_bucket.report-bucket-333333333333_bucket_569A5FC4", "  lifecycle {", "    destroy = false", "  }", "}"].join("\n"));
    expect(() => renderHcl({ removed: [{ from: "aws_s3_bucket.x", provisioner: [] }] }, SCHEMA)).toThrow(/removed block .* is not supported by the review renderer/);
  });

  it("refuses what it does not render instead of guessing", () => {
    expect(() => renderHcl({ module: { m: { source: "./m" } } }, SCHEMA)).toThrow(/module is not supported by the review renderer/);
    expect(() => renderHcl({ resource: { aws_nothing: { x: {} } } }, SCHEMA)).toThrow(/resource type aws_nothing is not in hashicorp\/aws's schema/);
    expect(() => renderHcl({ resource: { aws_iam_role: { x: { provisioner: [{ "local-exec": { command: "x" } }] } } } }, SCHEMA)).toThrow(/provisioners are not supported/);
    expect(() => renderHcl({ provider: { google: [{}] } }, SCHEMA)).toThrow(/only hashicorp\/aws has a schema/);
  });
});
