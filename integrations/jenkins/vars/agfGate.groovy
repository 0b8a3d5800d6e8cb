/**
 * AGF deployment gate for Jenkins pipelines (a shared-library step).
 *
 *   agfGate(project: 'shop', component: 'api', version: env.GIT_COMMIT, timeout: '24h',
 *           credentialsId: 'agf-token', url: 'https://agf.example.com', onUndecided: 'UNSTABLE')
 *
 * Runs `npx agf submit --wait` (Node 24 on the agent). Exit codes (docs/cli.md): 0 proceed, 1 blocked,
 * 2 undecided at timeout or escalated, 3 usage / authentication error, 4 AGF unreachable.
 * A block fails the build; undecided marks it UNSTABLE or FAILURE (`onUndecided`, default FAILURE).
 * Returns the decision as a map (requestId, decision.outcome, decision.conditions, decision.shadow).
 */
def call(Map args = [:]) {
  String project = args.project ?: error('agfGate: project is required')
  String component = args.component ?: error('agfGate: component is required')
  String version = args.version ?: env.GIT_COMMIT
  String timeout = args.timeout ?: '24h'
  String url = args.url ?: env.AGF_URL
  String credentialsId = args.credentialsId ?: 'agf-token'
  String onUndecided = (args.onUndecided ?: 'FAILURE').toUpperCase()
  String cliVersion = args.cliVersion ?: 'latest'
  if (!(onUndecided in ['UNSTABLE', 'FAILURE'])) error("agfGate: onUndecided must be UNSTABLE or FAILURE, not ${onUndecided}")

  int code
  withCredentials([string(credentialsId: credentialsId, variable: 'AGF_TOKEN')]) {
    withEnv(["AGF_URL=${url}", "AGF_PROJECT=${project}", "AGF_COMPONENT=${component}", "AGF_VERSION=${version}", "AGF_TIMEOUT=${timeout}", "AGF_CLI_VERSION=${cliVersion}"]) {
      code = sh(returnStatus: true, script: 'npx --yes "agf@$AGF_CLI_VERSION" submit --project "$AGF_PROJECT" --component "$AGF_COMPONENT" --version "$AGF_VERSION" --wait --timeout "$AGF_TIMEOUT" --json > agf-decision.json')
    }
  }
  archiveArtifacts(artifacts: 'agf-decision.json', allowEmptyArchive: true)
  def result = fileExists('agf-decision.json') ? readJSON(file: 'agf-decision.json', returnPojo: true) : [:]
  switch (code) {
    case 0:
      echo "AGF: proceed (${result?.decision?.outcome ?: 'decided'})${result?.decision?.shadow ? ' [shadow mode]' : ''}"
      return result
    case 1:
      error("AGF blocked this deployment: ${result?.decision?.decisionRationale ?: 'see agf-decision.json'}")
    case 2:
      if (onUndecided == 'UNSTABLE') {
        unstable('AGF has not decided (timeout or escalation)')
        return result
      }
      error('AGF has not decided (timeout or escalation)')
    case 3:
      error('AGF: usage, configuration or authentication error (check url, credentials and arguments)')
    case 4:
      error("AGF unreachable at ${url}")
    default:
      error("agf exited with ${code}")
  }
}
