using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tasks.Core.Telemetry;

/// <summary>Sends lines to the StatsD server over UDP, packed into packets of at most
/// <see cref="StatsDOptions.MaxPacketBytes"/> and never split.</summary>
internal sealed class StatsDSender(StatsDOptions options) : IDisposable
{
    private Socket? _socket;

    public async Task SendAsync(List<string> lines, CancellationToken ct)
    {
        if (lines.Count == 0) return;
        var socket = _socket ??= await ConnectAsync(ct).ConfigureAwait(false);
        var packet = new StringBuilder(options.MaxPacketBytes);
        try
        {
            foreach (var line in lines)
            {
                // Every line is ASCII (names and tags are sanitised, numbers invariant), so chars are bytes.
                if (packet.Length > 0 && packet.Length + 1 + line.Length > options.MaxPacketBytes)
                {
                    await SendPacketAsync(socket, packet, ct).ConfigureAwait(false);
                    packet.Clear();
                }
                if (packet.Length > 0) packet.Append('\n');
                packet.Append(line);
            }
            await SendPacketAsync(socket, packet, ct).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            // The server may have moved (a restarted container, a new address): look it up again next flush.
            socket.Dispose();
            _socket = null;
            throw;
        }
    }

    private static async Task SendPacketAsync(Socket socket, StringBuilder packet, CancellationToken ct)
    {
        var bytes = Encoding.ASCII.GetBytes(packet.ToString());
        try
        {
            await socket.SendAsync(bytes, SocketFlags.None, ct).ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            // A connected UDP socket reports "port unreachable" for an earlier packet on the next send, which then
            // isn't sent; once reported the error is cleared, so sending again is not a loop.
            await socket.SendAsync(bytes, SocketFlags.None, ct).ConfigureAwait(false);
        }
    }

    private async Task<Socket> ConnectAsync(CancellationToken ct)
    {
        var addresses = await Dns.GetHostAddressesAsync(options.Host!, ct).ConfigureAwait(false);
        var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new SocketException((int)SocketError.HostNotFound);
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Connected, so each send names no address and the kernel does the lookup once.
            socket.Connect(new IPEndPoint(address, options.Port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => _socket?.Dispose();
}
