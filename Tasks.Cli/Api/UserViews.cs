namespace Tasks.Cli.Api;

/// <summary><c>GET /users</c>: dashboard users; never a password or its hash.</summary>
public sealed record UserList(List<UserView> Items);

public sealed record UserView(string Name, string Role, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);
