/**
 * The lab's configuration files, written the way an operator would have them on a real host:
 * zoo.cfg, and per broker a config dir with server.properties and log4j.properties.
 * Files that already exist are left alone, so a config restored by Lifeboat is what the broker
 * starts with next (that is what config restore tests need).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LabBroker, LabCluster, LabKraftCluster, LabTopology } from './topology';
import { LAB_APP_USER, zkConnect } from './topology';

function writeIfMissing(file: string, content: string): void {
  if (existsSync(file)) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

export function zooCfg(topo: LabTopology): string {
  return [
    '# Lifeboat lab ZooKeeper (standalone)',
    'tickTime=2000',
    `dataDir=${topo.zookeeper.dataDir}`,
    `clientPort=${topo.zookeeper.port}`,
    'clientPortAddress=127.0.0.1',
    'maxClientCnxns=0',
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr,stat,mntr,conf,cons,wchs,dump',
    'autopurge.snapRetainCount=3',
    'autopurge.purgeInterval=1',
    '',
  ].join('\n');
}

/** Topic, group and thread settings every lab broker has, whatever its Kafka line. */
const clusterDefaults = (rf: number): string[] => [
  'num.partitions=3',
  `default.replication.factor=${rf}`,
  `offsets.topic.replication.factor=${rf}`,
  'offsets.topic.num.partitions=10',
  `transaction.state.log.replication.factor=${rf}`,
  `transaction.state.log.min.isr=${Math.min(2, rf)}`,
  'transaction.state.log.num.partitions=5',
  'group.initial.rebalance.delay.ms=0',
  'num.network.threads=3',
  'num.io.threads=4',
];

/** Segments, retention and sizes: records kept for ever, 10 MB records allowed, no topic made by a client. */
const logDefaults = [
  'log.segment.bytes=67108864',
  'log.retention.hours=-1',
  'message.max.bytes=10485760',
  'replica.fetch.max.bytes=10485760',
  'auto.create.topics.enable=false',
];

/** The applications' listener: SASL_PLAINTEXT with PLAIN, where clients are User:app and ACLs bind them. */
const appListener = (b: LabBroker): string => (b.appPort ? `,SASL_PLAINTEXT://127.0.0.1:${b.appPort}` : '');
const appSasl = (b: LabBroker): string[] =>
  b.appPort
    ? [
        'sasl.enabled.mechanisms=PLAIN',
        `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${LAB_APP_USER.username}="${LAB_APP_USER.password}";`,
      ]
    : [];

export function serverProperties(topo: LabTopology, cluster: LabCluster, broker: LabBroker): string {
  const rf = cluster.replicationFactor;
  return [
    `# Lifeboat lab broker ${broker.id} of cluster "${cluster.name}" (ZooKeeper mode)`,
    `broker.id=${broker.id}`,
    `listeners=PLAINTEXT://127.0.0.1:${broker.port}${appListener(broker)}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${broker.port}${appListener(broker)}`,
    ...(broker.appPort ? ['inter.broker.listener.name=PLAINTEXT', ...appSasl(broker)] : []),
    `log.dirs=${broker.logDir}`,
    `zookeeper.connect=${zkConnect(topo)}${cluster.chroot}`,
    // Short enough that a killed broker's ephemeral registration goes away quickly in fault tests.
    'zookeeper.session.timeout.ms=6000',
    'zookeeper.connection.timeout.ms=18000',
    ...clusterDefaults(rf),
    'num.recovery.threads.per.data.dir=2',
    ...logDefaults,
    'delete.topic.enable=true',
    // An authorizer, so ACLs can be captured and restored; open to everyone otherwise.
    'authorizer.class.name=kafka.security.authorizer.AclAuthorizer',
    'allow.everyone.if.no.acl.found=true',
    'super.users=User:ANONYMOUS',
    '',
  ].join('\n');
}

/** A combined broker/controller node of the KRaft cluster, with the same broker settings as the 3.9 clusters where they still exist. */
export function kraftServerProperties(cluster: LabKraftCluster, broker: LabBroker): string {
  const rf = cluster.replicationFactor;
  const voters = cluster.brokers.map((b) => `${b.id}@127.0.0.1:${cluster.controllerPorts[b.id]}`).join(',');
  return [
    `# Lifeboat lab node ${broker.id} of cluster "${cluster.name}" (KRaft, Kafka ${cluster.kafkaVersion})`,
    'process.roles=broker,controller',
    `node.id=${broker.id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${broker.port}${appListener(broker)},CONTROLLER://127.0.0.1:${cluster.controllerPorts[broker.id]}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${broker.port}${appListener(broker)}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
    ...appSasl(broker),
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${broker.logDir}`,
    ...clusterDefaults(rf),
    ...logDefaults,
    // KRaft's authorizer, so ACLs can be mirrored onto it; open to everyone otherwise.
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'allow.everyone.if.no.acl.found=true',
    'super.users=User:ANONYMOUS',
    '',
  ].join('\n');
}

/** Kafka 4 logs through log4j2: the same rolling server.log as the 3.9 brokers. */
export function log4j2Yaml(broker: LabBroker): string {
  const logs = join(broker.dir, 'logs');
  return [
    `# Lifeboat lab node ${broker.cluster}-${broker.id} logging (log4j2)`,
    'Configuration:',
    '  Appenders:',
    '    RollingFile:',
    '      name: File',
    `      fileName: ${join(logs, 'server.log')}`,
    `      filePattern: ${join(logs, 'server.log.%i')}`,
    '      PatternLayout: { pattern: "[%d] %p %m (%c)%n" }',
    '      Policies: { SizeBasedTriggeringPolicy: { size: 20MB } }',
    '      DefaultRolloverStrategy: { max: 2 }',
    '  Loggers:',
    '    Root: { level: INFO, AppenderRef: [ { ref: File } ] }',
    '    Logger:',
    '      - { name: kafka.request.logger, level: WARN }',
    '      - { name: state.change.logger, level: WARN }',
    '      - { name: kafka.authorizer.logger, level: WARN }',
    '',
  ].join('\n');
}

export function log4jProperties(broker: LabBroker): string {
  const logs = join(broker.dir, 'logs');
  return [
    `# Lifeboat lab broker ${broker.cluster}-${broker.id} logging`,
    'log4j.rootLogger=INFO, kafkaAppender',
    'log4j.appender.kafkaAppender=org.apache.log4j.RollingFileAppender',
    `log4j.appender.kafkaAppender.File=${join(logs, 'server.log')}`,
    'log4j.appender.kafkaAppender.MaxFileSize=20MB',
    'log4j.appender.kafkaAppender.MaxBackupIndex=2',
    'log4j.appender.kafkaAppender.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.kafkaAppender.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka=INFO',
    'log4j.logger.org.apache.kafka=INFO',
    'log4j.logger.org.apache.zookeeper=WARN',
    'log4j.logger.kafka.request.logger=WARN',
    'log4j.logger.state.change.logger=WARN',
    'log4j.logger.kafka.authorizer.logger=WARN',
    '',
  ].join('\n');
}

export function zookeeperLog4j(): string {
  return [
    'log4j.rootLogger=WARN, stdout',
    'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
    'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
    // node-zookeeper-client speaks the pre-3.5 handshake: one "old client" WARN per connection.
    'log4j.logger.org.apache.zookeeper.server.ZooKeeperServer=ERROR',
    '',
  ].join('\n');
}

export function writeLabConfigs(topo: LabTopology): void {
  writeIfMissing(topo.zookeeper.configFile, zooCfg(topo));
  writeIfMissing(join(dirname(topo.zookeeper.configFile), 'log4j.properties'), zookeeperLog4j());
  for (const cluster of topo.clusters) {
    for (const broker of cluster.brokers) {
      writeIfMissing(join(broker.configDir, 'server.properties'), serverProperties(topo, cluster, broker));
      writeIfMissing(join(broker.configDir, 'log4j.properties'), log4jProperties(broker));
      mkdirSync(broker.logDir, { recursive: true });
      mkdirSync(join(broker.dir, 'logs'), { recursive: true });
    }
  }
  const kraft = topo.kraft;
  for (const broker of kraft.brokers) {
    writeIfMissing(join(broker.configDir, 'server.properties'), kraftServerProperties(kraft, broker));
    writeIfMissing(join(broker.configDir, 'log4j2.yaml'), log4j2Yaml(broker));
    mkdirSync(broker.logDir, { recursive: true });
    mkdirSync(join(broker.dir, 'logs'), { recursive: true });
  }
}
