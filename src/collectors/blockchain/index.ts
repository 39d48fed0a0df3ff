export { createBlockchainCollector, BLOCKCHAIN_COLLECTOR, type BlockchainCollectorDeps } from './blockchain.collector.js';
export { nftTransferRoutes } from './nft-transfers.routes.js';
export { createSolanaRpc, SolanaRpcError, type RpcCall, type SolanaRpc } from './solana-rpc.js';
