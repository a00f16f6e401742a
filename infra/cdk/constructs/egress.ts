// Static egress (`-c staticEgress=true`): the functions that reach an institution's SMTP server run in
// a VPC whose NAT gateways use Elastic IPs allocated here, so the institution's firewall can allow
// exactly those addresses (what Alma's guide asks IT to do for its cloud's IP range).
import { CfnEIP, FlowLogDestination, FlowLogTrafficType, GatewayVpcEndpointAwsService, NatProvider, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

const AVAILABILITY_ZONES = 2;

export class StaticEgress extends Construct {
  public readonly vpc: Vpc;
  /** The public addresses the relays see (Ref of each Elastic IP). */
  public readonly addresses: string[];

  public constructor(scope: Construct, id: string) {
    super(scope, id);
    const eips = Array.from({ length: AVAILABILITY_ZONES }, (_, index) => new CfnEIP(this, `EgressIp${index + 1}`, { domain: 'vpc' }));
    this.addresses = eips.map((eip) => eip.ref);
    this.vpc = new Vpc(this, 'Vpc', {
      maxAzs: AVAILABILITY_ZONES,
      natGateways: AVAILABILITY_ZONES,
      natGatewayProvider: NatProvider.gateway({ eipAllocationIds: eips.map((eip) => eip.attrAllocationId) }),
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      // DynamoDB through the VPC's own endpoint: store traffic does not pay for the NAT.
      gatewayEndpoints: { DynamoDB: { service: GatewayVpcEndpointAwsService.DYNAMODB } },
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: FlowLogDestination.toCloudWatchLogs(new LogGroup(this, 'FlowLogs', { retention: RetentionDays.ONE_MONTH })),
      trafficType: FlowLogTrafficType.REJECT,
    });
  }
}
